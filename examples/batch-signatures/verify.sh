#!/bin/sh
# Verifies an xgw signature (envelope.md), single or batch form, with nothing but sh and the
# openssl command line: the recipe of docs/security.md ("Verifying batch signatures with openssl").
#
#   verify.sh ALG MESSAGE CERT VALUE [SIZE INDEX [PATH_ELEMENT...]]
#
# ALG      signature.alg: SM2-SM3, ES256 or Ed25519
# MESSAGE  a file holding the RFC 8785 (JCS) bytes of the `envelope` (or `receipt`) member
# CERT     the signer's certificate, PEM
# VALUE    signature.value (base64)
# SIZE INDEX PATH_ELEMENT...   signature.batch: size, index and the path's base64 elements, in order
#
# Exit 0 and "Signature Verified Successfully" when the signature holds; 1 otherwise.
set -eu
if [ $# -lt 4 ] || [ $# -eq 5 ]; then
    echo "usage: verify.sh ALG MESSAGE CERT VALUE [SIZE INDEX [PATH_ELEMENT...]]" >&2
    exit 64
fi
alg=$1 message=$2 cert=$3 value=$4
shift 4
case $alg in
    SM2-SM3) hash=sm3; options="-digest sm3 -pkeyopt distid:1234567812345678" ;;
    ES256) hash=sha256; options="-digest sha256" ;;
    Ed25519) hash=sha256; options="" ;;
    *) echo "verify.sh: unsupported algorithm $alg" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl x509 -in "$cert" -pubkey -noout > "$work/pub.pem"
printf %s "$value" | openssl base64 -d -A > "$work/sig"

if [ $# -eq 0 ]; then
    # Single form: the signature is over the member's JCS bytes.
    cp "$message" "$work/signed"
else
    size=$1 index=$2
    shift 2
    if [ "$size" -lt 1 ] || [ "$index" -lt 0 ] || [ "$index" -ge "$size" ]; then
        echo "verify.sh: index $index is not in [0, $size)" >&2; exit 1
    fi
    # Leaf: H(0x00 || JCS(member)).
    { printf '\000'; cat "$message"; } | openssl dgst -"$hash" -binary > "$work/node"
    # Fold the path (RFC 9162 section 2.1.3.2): interior nodes are H(0x01 || left || right).
    fn=$index sn=$((size - 1))
    for element in "$@"; do
        if [ "$sn" -eq 0 ]; then echo "verify.sh: the path is too long" >&2; exit 1; fi
        printf %s "$element" | openssl base64 -d -A > "$work/sibling"
        if [ "$(wc -c < "$work/sibling")" -ne 32 ]; then echo "verify.sh: a path element is not a hash" >&2; exit 1; fi
        if [ $((fn % 2)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
            { printf '\001'; cat "$work/sibling" "$work/node"; } | openssl dgst -"$hash" -binary > "$work/next"
            while [ $((fn % 2)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
        else
            { printf '\001'; cat "$work/node" "$work/sibling"; } | openssl dgst -"$hash" -binary > "$work/next"
        fi
        mv "$work/next" "$work/node"
        fn=$((fn / 2)); sn=$((sn / 2))
    done
    if [ "$sn" -ne 0 ]; then echo "verify.sh: the path is too short" >&2; exit 1; fi
    # The batch statement, in its RFC 8785 form (members in order, no spaces).
    root=$(openssl base64 -A -in "$work/node")
    printf '{"xgwBatch":{"root":"%s","size":%s,"version":1}}' "$root" "$size" > "$work/signed"
fi
# shellcheck disable=SC2086 # $options is a list of options
openssl pkeyutl -verify -pubin -inkey "$work/pub.pem" -rawin -in "$work/signed" -sigfile "$work/sig" $options
