"""A voice menu in the settings file, as an admin writes it: three choices, English and German."""

MENU_TOML = """
[menus.main]
prompt = "appliance-test/menu-main"
operator = "100@from-phones"
threshold = 0.6

[menus.main.choices.sales]
destination = "201@from-phones"
dtmf = "1"
phrases = { en = ["sales", "buy", "purchase", "new order"], de = ["Vertrieb", "Verkauf", "kaufen", "Bestellung"] }

[menus.main.choices.support]
destination = "202@from-phones"
dtmf = "2"
phrases = { en = ["support", "help", "technical problem", "customer service"], de = ["Support", "Hilfe", "Kundendienst", "Störung"] }

[menus.main.choices.billing]
destination = "203@from-phones"
dtmf = "3"
phrases = { en = ["billing", "invoice", "payment"], de = ["Rechnung", "Buchhaltung", "Zahlung"] }
"""
