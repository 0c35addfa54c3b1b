"""Errors as a person meets them: a page inside the layout (the nav, a way back) in their
language; JSON for scripts (/api, /events and the remote workers' /worker)."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from appliance.errors import BadInput
from appliance.web.labels import N_, error_text

# (title, what happened and what to do) per status; werkzeug's own texts are English.
_TEXTS = {
    400: (N_("Bad request"), N_("The appliance could not use what was sent. Check what you entered and try again.")),
    401: (N_("Login needed"), N_("Log in to open this page.")),
    403: (N_("Not allowed"), N_("Your account may not open this page. An administrator can give you access.")),
    404: (N_("Not found"), N_("There is no such page, or what it showed was deleted or is outside what you may see.")),
    405: (N_("Not possible here"), N_("This address cannot be used this way. Go back and use the page's buttons.")),
    410: (N_("Gone"), N_("This is no longer there: the recording was removed or could not be read.")),
    413: (N_("Too large"), N_("What was sent is too large for the appliance.")),
    416: (N_("Not in the recording"), N_("This part of the recording does not exist.")),
    429: (N_("Too many requests"), N_("Wait a moment and try again.")),
    500: (N_("Something went wrong"),
          N_("The appliance could not finish this. Try again; if it keeps happening, tell an administrator.")),
    503: (N_("Not available"), N_("The appliance is busy or a part of it is down. Try again in a moment.")),
}
_MACHINE_PATHS = ("/api/", "/events", "/worker/")


def _texts(error: HTTPException) -> tuple[str, str]:
    title, text = _TEXTS.get(error.code, (None, None))
    title = gettext(title) if title else error.name
    if isinstance(error, CSRFError):
        return title, gettext("The form has expired or came from elsewhere (CSRF check). Reload the page and send it "
                              "again.")
    # A reason given by the view (abort(400, _("..."))) is already in the user's language.
    given = error.description != type(error).description
    return title, error.description if given or not text else gettext(text)


def error_page(error: HTTPException):
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]  # Allow, ...
    if request.path.startswith(_MACHINE_PATHS):
        return jsonify(error=error.name.lower()), error.code, headers
    title, text = _texts(error)
    return render_template("error.html", code=error.code, title=title, text=text), error.code, headers


def refused_input(error: BadInput):
    # The store refused a value someone typed (or raced another request to): say why, as a 400.
    return error_page(BadRequest(gettext("This cannot be done: %(reason)s", reason=error_text(error))))


def init_app(app) -> None:
    # Flask hands an unexpected exception to the handler as an InternalServerError (500).
    app.register_error_handler(HTTPException, error_page)
    app.register_error_handler(BadInput, refused_input)
