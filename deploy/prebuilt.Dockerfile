# Packs a self-contained publish (artifacts/publish/<ENTRY>, made on the host) onto a runtime base
# image: for machines whose Docker cannot pull Microsoft's images. See scripts/compose-check.sh.
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}
ARG ENTRY
WORKDIR /app
COPY artifacts/publish/${ENTRY}/ /app/
RUN printf '#!/bin/sh\nexec /app/%s "$@"\n' "$ENTRY" > /app/run && chmod +x /app/run
# Our images say so: an image a rebuild left without a tag can be told from others and removed.
LABEL org.regeneration.image="true"
ENTRYPOINT ["/app/run"]
