#!/bin/sh
# Asterisk -> appliance hand-off. Runs where Asterisk runs (also in a bare root with only
# /bin/sh), so it only drops a ticket into the appliance's spool, atomically, and moves the
# finished recording next to it; the appliance's spool sweep takes it from there.
#
#   appliance-hook.sh recording id=UNIQUEID linked=LINKEDID epoch=EPOCH direction=DIR caller=B64 name=B64 callee=B64
#   appliance-hook.sh unanswered id=UNIQUEID                        (before StopMixMonitor)
#   appliance-hook.sh note id=UNIQUEID epoch=EPOCH caller=B64 name=B64
#   appliance-hook.sh voicemail CONTEXT MAILBOX NEW OLD URGENT      (voicemail.conf externnotify)
#
# Every value is checked against a narrow pattern: what comes from a caller arrives
# BASE64-encoded, so nothing a caller sends can reach a shell or a path.
set -u
SPOOL="{{ spool }}"

safe() {  # safe PATTERN VALUE: print VALUE if it only has characters from the class
    case "$2" in *[!$1]*) return 1 ;; *) printf '%s' "$2" ;; esac
}
field() {  # field NAME CLASS key=value...: the value of NAME=, empty if absent or unsafe
    name=$1; class=$2; shift 2
    for pair in "$@"; do
        case "$pair" in "$name="*) safe "$class" "${pair#*=}" || true; return ;; esac
    done
}
B64='A-Za-z0-9+/='
ID='A-Za-z0-9._-'

ticket() {  # ticket BASENAME JSON: write BASENAME.json so no reader ever sees half of it
    # ln, not mv: a second ticket for the same call never replaces the first (nor its audio).
    tmp="$SPOOL/.$1.json.$$"
    printf '%s\n' "$2" > "$tmp" || return 1
    ln "$tmp" "$SPOOL/$1.json" 2>/dev/null
    taken=$?
    rm -f "$tmp"
    [ $taken -eq 0 ] || { echo "$0: $1 was handed over already; kept as it was" >&2; return 1; }
}

kind=${1:-}
[ $# -gt 0 ] && shift
case "$kind" in
recording)
    id=$(field id "$ID" "$@")
    [ -n "$id" ] || exit 2
    if [ -f "$SPOOL/recording/$id.unanswered" ]; then  # it went to a mailbox unanswered: only ringing
        rm -f "$SPOOL/recording/$id.raw" "$SPOOL/recording/$id.unanswered"
        exit 0
    fi
    ticket "$id" "{\"kind\": \"call\", \"uniqueid\": \"$id\", \"linkedid\": \"$(field linked "$ID" "$@")\", \"started_epoch\": \"$(field epoch 0-9 "$@")\", \"direction\": \"$(field direction a-z "$@")\", \"caller_b64\": \"$(field caller "$B64" "$@")\", \"caller_name_b64\": \"$(field name "$B64" "$@")\", \"callee_b64\": \"$(field callee "$B64" "$@")\", \"options\": {\"channels\": 2}}" || exit 1
    [ -f "$SPOOL/recording/$id.raw" ] && mv -f "$SPOOL/recording/$id.raw" "$SPOOL/$id.raw"
    ;;
note)
    id=$(field id "$ID" "$@")
    [ -n "$id" ] || exit 2
    ticket "note-$id" "{\"kind\": \"note\", \"uniqueid\": \"note-$id\", \"started_epoch\": \"$(field epoch 0-9 "$@")\", \"caller_b64\": \"$(field caller "$B64" "$@")\", \"caller_name_b64\": \"$(field name "$B64" "$@")\"}" || exit 1
    [ -f "$SPOOL/recording/note-$id.wav" ] && mv -f "$SPOOL/recording/note-$id.wav" "$SPOOL/note-$id.wav"
    ;;
unanswered)  # the dialplan's word that this call's recording holds no conversation
    id=$(field id "$ID" "$@")
    [ -n "$id" ] || exit 2
    : > "$SPOOL/recording/$id.unanswered"
    ;;
voicemail)
    # The sweep scans the mailboxes; this only tells it to look now.
    : > "$SPOOL/.voicemail-changed"
    ;;
*)
    echo "usage: $0 recording|unanswered|note|voicemail ..." >&2
    exit 2
    ;;
esac
exit 0
