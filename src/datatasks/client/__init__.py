"""A client of a running datatasks service, behind the `datatasks` command's client commands:
api.py speaks HTTP, events.py follows a job to its end, commands.py and render.py are the
command line."""
