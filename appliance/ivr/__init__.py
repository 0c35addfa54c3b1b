"""Voice menus: callers say what they want ("sales", "Vertrieb bitte") and Asterisk routes them.

`menu` (the definition from the settings), `matcher` (text -> choice with a confidence),
`recognise` (one utterance -> text, Vosk grammar or Whisper), `app` (the ARI Stasis service),
`dialplan` (the menu contexts for asterisk-config/extensions.conf), `cli` (`appliance ivr`).
"""
