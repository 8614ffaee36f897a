"""Word tables for realistic-looking fake values.

Embedded in source so generation needs no data files, network access or third-party
fakers. Everything is plain ASCII so lower-casing into emails and URLs is safe.
"""

from typing import Final

# fmt: off
FIRST_NAMES: Final[tuple[str, ...]] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Dorothy", "Kevin", "Carol", "Brian",
    "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen",
    "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra",
    "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine", "Dennis",
    "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam",
    "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Douglas", "Victoria", "Zachary", "Kelly",
    "Peter", "Lauren", "Kyle", "Christina", "Ethan", "Joan", "Walter", "Evelyn", "Noah", "Judith",
    "Jeremy", "Megan", "Christian", "Andrea", "Keith", "Cheryl", "Roger", "Hannah", "Terry",
    "Jacqueline", "Gerald", "Martha", "Harold", "Gloria", "Sean", "Teresa", "Austin", "Ann",
    "Carl", "Sara", "Arthur", "Madison", "Lawrence", "Frances", "Dylan", "Kathryn", "Jesse",
    "Janice", "Jordan", "Jean", "Bryan", "Abigail", "Billy", "Alice", "Joe", "Julia", "Bruce",
    "Judy", "Gabriel", "Sophia", "Logan", "Grace", "Albert", "Denise", "Willie", "Amber",
    "Alan", "Doris", "Juan", "Marilyn", "Wayne", "Danielle", "Elijah", "Beverly", "Randy",
    "Isabella", "Roy", "Theresa", "Vincent", "Diana", "Ralph", "Natalie", "Eugene", "Brittany",
    "Russell", "Charlotte", "Bobby", "Marie", "Mason", "Kayla", "Philip", "Alexis", "Louis", "Lori",
    "Aisha", "Yuki", "Ravi", "Mei", "Omar", "Ingrid", "Lars", "Priya", "Kenji", "Fatima",
)

LAST_NAMES: Final[tuple[str, ...]] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
    "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander",
    "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes",
    "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray",
    "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods",
    "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker",
    "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez",
    "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks", "Holmes", "Palmer",
    "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills",
    "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens", "Soto",
    "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
    "Mueller", "Schneider", "Rossi", "Tanaka", "Sato", "Kowalski", "Novak", "Larsen", "Singh",
)

COMPANY_PARTS: Final[tuple[str, ...]] = (
    "Global", "Systems", "Solutions", "Technologies", "Industries", "Dynamics", "Networks",
    "Partners", "Holdings", "Ventures", "Labs", "Logistics", "Analytics", "Consulting", "Media",
    "Energy", "Foods", "Motors", "Software", "Digital", "Capital", "Group", "Enterprises",
    "Services", "Supply", "Works", "Designs", "Robotics", "Health", "Pharma", "Bio", "Data",
    "Cloud", "Security", "Finance", "Insurance", "Marine", "Aerospace", "Textiles", "Chemicals",
    "Construction", "Engineering", "Electronics", "Instruments", "Materials", "Metals", "Mining",
    "Paper", "Plastics", "Publishing", "Records", "Retail", "Shipping", "Studios", "Telecom",
    "Trading", "Transport", "Travel", "Water", "Wireless", "Agritech", "Apparel", "Brands",
    "Brewing", "Builders", "Cargo", "Clinics", "Creative", "Devices", "Distribution", "Foundry",
    "Freight", "Games", "Goods", "Imaging", "Innovations", "Interactive", "Kitchens", "Learning",
    "Lighting", "Machines", "Manufacturing", "Medical", "Mobility", "Optics", "Outdoors",
    "Power", "Precision", "Properties", "Research", "Resources", "Semiconductors", "Sensors",
    "Signals", "Sports", "Storage", "Strategies", "Tools", "Unlimited", "Vision",
)

COMPANY_SUFFIXES: Final[tuple[str, ...]] = (
    "Inc", "LLC", "Ltd", "GmbH", "Corp", "Co", "PLC", "AG", "SA", "BV", "Pty Ltd", "LLP",
    "Oy", "AB", "KK", "SAS", "SpA", "NV",
)

STREET_NAMES: Final[tuple[str, ...]] = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Church", "High", "Mill", "Spring", "River", "Sunset", "Ridge", "Meadow", "Forest", "Valley",
    "Walnut", "Cherry", "Willow", "Birch", "Chestnut", "Hickory", "Spruce", "Poplar", "Aspen",
    "Magnolia", "Lincoln", "Jefferson", "Madison", "Franklin", "Jackson", "Adams", "Monroe",
    "Union", "Market", "Bridge", "Station", "Harbor", "Bay", "Beach", "Ocean", "Prospect",
    "Highland", "Liberty", "Center", "College", "School", "King", "Queen", "Victoria", "Albert",
    "George", "North", "South", "East", "West", "Broad", "Front", "Water", "Grove", "Orchard",
    "Garden", "Meadowbrook", "Fairview", "Greenwood", "Woodland", "Brookside", "Lakeview",
    "Hillcrest", "Riverside", "Rosewood", "Sycamore", "Laurel", "Juniper", "Holly", "Ivy",
    "Hawthorn", "Heather", "Sherwood", "Kingsley", "Ashford", "Canterbury", "Windsor",
    "Cambridge", "Oxford", "Bristol", "Dover", "Chelsea", "Kensington", "Mulberry", "Primrose",
    "Thornton", "Waverly", "Westminster", "Whitehall", "Wellington", "Summit",
)

STREET_SUFFIXES: Final[tuple[str, ...]] = (
    "Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Boulevard", "Way", "Terrace",
    "Close", "Crescent", "Parkway", "Circle", "Square", "Row", "Trail", "Walk",
)

CITIES: Final[tuple[str, ...]] = (
    "New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
    "San Diego", "Dallas", "Austin", "Seattle", "Denver", "Boston", "Portland", "Atlanta",
    "Miami", "Detroit", "Minneapolis", "Nashville", "Baltimore", "Toronto", "Montreal",
    "Vancouver", "Calgary", "Ottawa", "Mexico City", "Guadalajara", "Monterrey", "Havana",
    "Bogota", "Lima", "Santiago", "Buenos Aires", "Montevideo", "Sao Paulo", "Rio de Janeiro",
    "Brasilia", "Caracas", "Quito", "La Paz", "London", "Manchester", "Birmingham", "Glasgow",
    "Edinburgh", "Dublin", "Cork", "Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Brussels",
    "Antwerp", "Amsterdam", "Rotterdam", "Utrecht", "Berlin", "Hamburg", "Munich", "Cologne",
    "Frankfurt", "Stuttgart", "Vienna", "Zurich", "Geneva", "Bern", "Madrid", "Barcelona",
    "Valencia", "Seville", "Lisbon", "Porto", "Rome", "Milan", "Naples", "Turin", "Florence",
    "Venice", "Athens", "Thessaloniki", "Istanbul", "Ankara", "Copenhagen", "Aarhus", "Oslo",
    "Bergen", "Stockholm", "Gothenburg", "Helsinki", "Reykjavik", "Tallinn", "Riga", "Vilnius",
    "Warsaw", "Krakow", "Prague", "Brno", "Bratislava", "Budapest", "Bucharest", "Sofia",
    "Belgrade", "Zagreb", "Ljubljana", "Kyiv", "Cairo", "Alexandria", "Casablanca", "Tunis",
    "Lagos", "Abuja", "Accra", "Nairobi", "Addis Ababa", "Kampala", "Dar es Salaam",
    "Johannesburg", "Cape Town", "Durban", "Dubai", "Abu Dhabi", "Doha", "Riyadh", "Tehran",
    "Karachi", "Lahore", "Mumbai", "Delhi", "Bangalore", "Chennai", "Kolkata", "Hyderabad",
    "Dhaka", "Colombo", "Kathmandu", "Bangkok", "Hanoi", "Ho Chi Minh City", "Kuala Lumpur",
    "Singapore", "Jakarta", "Manila", "Beijing", "Shanghai", "Shenzhen", "Guangzhou",
    "Hong Kong", "Taipei", "Seoul", "Busan", "Tokyo", "Osaka", "Kyoto", "Sapporo", "Sydney",
    "Melbourne", "Brisbane", "Perth", "Adelaide", "Auckland", "Wellington", "Christchurch",
)

COUNTRIES: Final[tuple[str, ...]] = (
    "Afghanistan", "Albania", "Algeria", "Andorra", "Angola", "Antigua and Barbuda",
    "Argentina", "Armenia", "Australia", "Austria", "Azerbaijan", "Bahamas", "Bahrain",
    "Bangladesh", "Barbados", "Belarus", "Belgium", "Belize", "Benin", "Bhutan", "Bolivia",
    "Bosnia and Herzegovina", "Botswana", "Brazil", "Brunei", "Bulgaria", "Burkina Faso",
    "Burundi", "Cabo Verde", "Cambodia", "Cameroon", "Canada", "Central African Republic",
    "Chad", "Chile", "China", "Colombia", "Comoros", "Congo", "Costa Rica", "Cote d'Ivoire",
    "Croatia", "Cuba", "Cyprus", "Czechia", "Democratic Republic of the Congo", "Denmark",
    "Djibouti", "Dominica", "Dominican Republic", "Ecuador", "Egypt", "El Salvador",
    "Equatorial Guinea", "Eritrea", "Estonia", "Eswatini", "Ethiopia", "Fiji", "Finland",
    "France", "Gabon", "Gambia", "Georgia", "Germany", "Ghana", "Greece", "Grenada",
    "Guatemala", "Guinea", "Guinea-Bissau", "Guyana", "Haiti", "Honduras", "Hungary", "Iceland",
    "India", "Indonesia", "Iran", "Iraq", "Ireland", "Israel", "Italy", "Jamaica", "Japan",
    "Jordan", "Kazakhstan", "Kenya", "Kiribati", "Kuwait", "Kyrgyzstan", "Laos", "Latvia",
    "Lebanon", "Lesotho", "Liberia", "Libya", "Liechtenstein", "Lithuania", "Luxembourg",
    "Madagascar", "Malawi", "Malaysia", "Maldives", "Mali", "Malta", "Marshall Islands",
    "Mauritania", "Mauritius", "Mexico", "Micronesia", "Moldova", "Monaco", "Mongolia",
    "Montenegro", "Morocco", "Mozambique", "Myanmar", "Namibia", "Nauru", "Nepal",
    "Netherlands", "New Zealand", "Nicaragua", "Niger", "Nigeria", "North Korea",
    "North Macedonia", "Norway", "Oman", "Pakistan", "Palau", "Palestine", "Panama",
    "Papua New Guinea", "Paraguay", "Peru", "Philippines", "Poland", "Portugal", "Qatar",
    "Romania", "Russia", "Rwanda", "Saint Kitts and Nevis", "Saint Lucia",
    "Saint Vincent and the Grenadines", "Samoa", "San Marino", "Sao Tome and Principe",
    "Saudi Arabia", "Senegal", "Serbia", "Seychelles", "Sierra Leone", "Singapore", "Slovakia",
    "Slovenia", "Solomon Islands", "Somalia", "South Africa", "South Korea", "South Sudan",
    "Spain", "Sri Lanka", "Sudan", "Suriname", "Sweden", "Switzerland", "Syria", "Taiwan",
    "Tajikistan", "Tanzania", "Thailand", "Timor-Leste", "Togo", "Tonga", "Trinidad and Tobago",
    "Tunisia", "Turkey", "Turkmenistan", "Tuvalu", "Uganda", "Ukraine", "United Arab Emirates",
    "United Kingdom", "United States", "Uruguay", "Uzbekistan", "Vanuatu", "Vatican City",
    "Venezuela", "Vietnam", "Yemen", "Zambia", "Zimbabwe",
)

# Only reserved (RFC 2606 / RFC 6761) or clearly fictional domains, so no real inbox is hit.
EMAIL_DOMAINS: Final[tuple[str, ...]] = (
    "example.com", "example.org", "example.net", "mail.test", "inbox.test", "post.test",
    "users.example", "corp.example", "mail.example.com", "webmail.example.org",
    "example.edu.invalid", "mailbox.invalid", "mail.localhost", "alpha.example",
    "beta.example", "gamma.example", "delta.test", "omega.test", "acme.example",
    "initech.example", "globex.example", "umbrella.example", "hooli.example", "contoso.example",
    "fabrikam.example", "northwind.example", "wayne.test", "stark.test", "tyrell.test",
    "cyberdyne.test",
)

TLDS: Final[tuple[str, ...]] = (
    "com", "org", "net", "io", "dev", "app", "co", "info", "biz", "tech", "ai", "site",
    "online", "store", "xyz", "us", "uk", "de", "fr", "nl",
)

WORDS: Final[tuple[str, ...]] = (
    "the", "be", "to", "of", "and", "a", "in", "that", "have", "it", "for", "not", "on",
    "with", "he", "as", "you", "do", "at", "this", "but", "his", "by", "from", "they", "we",
    "say", "her", "she", "or", "an", "will", "my", "one", "all", "would", "there", "their",
    "what", "so", "up", "out", "if", "about", "who", "get", "which", "go", "me", "when", "make",
    "can", "like", "time", "no", "just", "him", "know", "take", "people", "into", "year",
    "your", "good", "some", "could", "them", "see", "other", "than", "then", "now", "look",
    "only", "come", "its", "over", "think", "also", "back", "after", "use", "two", "how", "our",
    "work", "first", "well", "way", "even", "new", "want", "because", "any", "these", "give",
    "day", "most", "us", "is", "was", "are", "been", "has", "had", "were", "said", "did",
    "find", "here", "thing", "many", "long", "very", "still", "between", "own", "life", "where",
    "house", "world", "place", "hand", "part", "child", "eye", "woman", "man", "week", "case",
    "point", "government", "company", "number", "group", "problem", "fact", "water", "room",
    "mother", "area", "money", "story", "month", "lot", "right", "study", "book", "job",
    "word", "business", "issue", "side", "kind", "head", "service", "friend", "father",
    "power", "hour", "game", "line", "end", "member", "law", "car", "city", "community", "name",
    "president", "team", "minute", "idea", "kid", "body", "information", "school", "face",
    "others", "level", "office", "door", "health", "person", "art", "war", "history", "party",
    "result", "change", "morning", "reason", "research", "girl", "guy", "moment", "air",
    "teacher", "force", "education", "foot", "boy", "age", "policy", "music", "market",
    "sense", "nation", "plan", "college", "interest", "death", "experience", "effect", "class",
    "control", "care", "field", "development", "role", "effort", "rate", "heart", "drug",
    "show", "leader", "light", "voice", "wife", "police", "mind", "price", "report", "decision",
    "son", "view", "relationship", "town", "road", "arm", "difference", "value", "building",
    "action", "model", "season", "society", "tax", "director", "position", "player", "record",
    "paper", "space", "ground", "form", "event", "official", "matter", "center", "couple",
    "site", "project", "activity", "star", "table", "need", "court", "oil", "situation",
    "cost", "industry", "figure", "street", "image", "phone", "data", "picture", "practice",
    "piece", "land", "product", "doctor", "wall", "patient", "worker", "news", "test", "movie",
    "north", "love", "support", "technology", "step", "baby", "computer", "type", "attention",
    "film", "tree", "source", "organization", "hair", "window", "evidence", "population",
    "blue", "green", "quick", "bright", "quiet", "simple", "happy", "early", "open", "clear",
)
# fmt: on
