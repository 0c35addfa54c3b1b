"""Mail through the site's relay, in the recipient's language: a voicemail's (or voice note's)
transcript to its owner (voicemail.py) and a phrase alert to the recipients its rule names
(alerts.py). relay.py holds what both share: sending, the retry after a failure, the call's
caller and local time as a mail names them."""
