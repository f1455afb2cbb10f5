#!/bin/sh
# usage: packages.sh ROLE...
# The packages of .ci/packages that any of the roles need, one a line.

list=$(dirname "$0")/packages

awk -v roles=" $* " '
    /^[ \t]*(#|$)/ { next }
    {
        for (i = 2; i <= NF; i++) {
            if (index(roles, " " $i " ")) {
                print $1
                next
            }
        }
    }
' "$list"
