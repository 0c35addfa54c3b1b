"""CRM hand-off: signed JSON about a finished call, POSTed to LAN endpoints the admin set up.

`payload` builds the body (never audio), `signing` signs it, `delivery` sends it with retries
and back-off and records each attempt in the store (the delivery log in the UI).
"""
