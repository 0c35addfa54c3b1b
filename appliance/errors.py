"""The appliance's own errors. Messages are written for the person who has to act on them."""


class ApplianceError(Exception):
    """Base of every error the appliance reports to a person. The message is English (log, CLI,
    API); `code` names the case and `values` its numbers and names, so the web UI can say it in
    the reader's language (appliance/web/labels.py: error_text)."""

    #: A permanent error will fail the same way on retry (the input itself is bad).
    permanent = False

    def __init__(self, message: str = "", code: str | None = None, **values):
        super().__init__(message)
        self.code, self.values = code, values


class BadAudio(ApplianceError):
    """The recording cannot be used: empty, truncated, not audio, wrong rate, too long."""

    permanent = True


class ModelMissing(ApplianceError):
    """A model folder is absent or incomplete; the message names the install command."""


class BadInput(ApplianceError, ValueError):
    """A value a person gave is refused (an empty name, a date that is none, a duplicate):
    the message says why. A ValueError too, for the callers that catch that."""

    permanent = True


class BadQuery(ApplianceError):
    """A search query the full-text index cannot parse."""


class QueryTooCostly(BadQuery):
    """A search that would cost too much: too long, too many words, or too short a prefix."""


class NotFound(ApplianceError):
    """A call, job or model that does not exist."""


class ConfigError(ApplianceError):
    """The settings file or an environment override is invalid."""


class LegalHold(ApplianceError):
    """The call is under legal hold: nothing deletes it until an admin lifts the hold."""


class BadScope(BadInput):
    """A scope entry (what a user sees) that cannot be used: an unknown kind or a bad value."""


class NotAllowed(ApplianceError):
    """The user sees the call but their role does not allow this change (an admin grants edits)."""


class LastAdmin(ApplianceError):
    """The change would leave no administrator who can log in."""
