"""What each ``/api/v1`` route takes and answers, as typed models: the one source of its validation
(:mod:`fridge_monitor.web.api.contract`) and of ``openapi.json`` (:mod:`fridge_monitor.web.api.document`).

Requests are pydantic models (path, query, JSON body); answers are ``TypedDict``\\ s the views build, so mypy
checks the code against the shape the document promises. One module per noun; :mod:`.common` holds the
types they share (ids within 64 bits, text that is not blank, days, instants, temperatures).
"""
