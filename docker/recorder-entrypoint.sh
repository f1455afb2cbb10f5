#!/bin/sh
# hotline-recorder in its container: the secret shared with nginx arrives
# as a compose secret readable by root only; it is copied for the
# recorder's user, then the recorder runs as that user (no root left).
#
#   recorder-entrypoint.sh [hotline-recorder options]

set -eu

secret=/run/secrets/hotline_recorder_key

install -o hotline-recorder -g hotline-recorder -m 0400 \
    "$secret" /run/hotline/recorder.key

exec setpriv --reuid=hotline-recorder --regid=hotline-recorder \
    --init-groups --no-new-privs \
    /usr/sbin/hotline-recorder \
    --recordings /var/lib/hotline/recordings \
    --secret-file /run/hotline/recorder.key "$@"
