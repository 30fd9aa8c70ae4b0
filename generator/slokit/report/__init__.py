"""``slokit report``: SLO compliance over a day, a week, 30 days or a calendar month, read back from Prometheus.

The pure part turns query results into a report model (:mod:`.model`) and renders it (:mod:`.markdown`,
:mod:`.html`, :mod:`.jsondoc`, :mod:`.slack`); the edges are the Prometheus HTTP client (:mod:`.prometheus`),
the collection of every SLO's data with progress (:mod:`.collect`), the Slack post and the command line
(:mod:`.command`).
"""
