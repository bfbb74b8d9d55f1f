# shellcheck shell=sh
# Sourced by the Dockerfile's network steps (pip, uv, npm). When the build was given an extra CA
# bundle as the BuildKit secret `extra_ca` (a TLS-intercepting proxy's CA), trust it in addition
# to the system's CAs for this one RUN. The bundle is read from the secret mount and combined in
# a tmpfs, so it never reaches a layer. Without the secret this does nothing.
#   docker buildx build --secret id=extra_ca,src=proxy-ca.pem ...
#   EXTRA_CA_FILE=proxy-ca.pem docker compose build
extra_ca="${EXTRA_CA_SECRET:-/run/secrets/extra_ca}"
if [ -s "$extra_ca" ]; then
  bundle="${EXTRA_CA_BUNDLE:-/tmp/extra-ca-bundle.pem}"
  cat /etc/ssl/certs/ca-certificates.crt "$extra_ca" > "$bundle"
  export SSL_CERT_FILE="$bundle" PIP_CERT="$bundle" REQUESTS_CA_BUNDLE="$bundle" NODE_EXTRA_CA_CERTS="$extra_ca"
  echo "extra CA bundle from the extra_ca build secret: trusted for this step" >&2
fi
