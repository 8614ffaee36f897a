"""Word tables for text, URLs and email domains (people and places come from locales.py).

Everything is plain ASCII so lower-casing into emails and URLs is safe; the email domains are
reserved ones, so no generated address can reach a real inbox.
"""

from typing import Final

# fmt: off
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
