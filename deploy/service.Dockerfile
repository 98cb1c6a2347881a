# Builds one Regeneration program (a service, the gateway or the demo-data loader) from source.
#   docker build -f deploy/service.Dockerfile --build-arg PROJECT=services/Projects/Regeneration.Projects.csproj \
#     --build-arg ENTRY=Regeneration.Projects .
# Base images are build arguments: where no registry is reachable, deploy/prebuilt.Dockerfile packs a
# self-contained publish onto a locally built base instead (scripts/compose-check.sh does).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ARG PROJECT
WORKDIR /src
COPY . .
RUN dotnet publish "$PROJECT" -c Release -o /app --nologo

FROM ${RUNTIME_IMAGE}
ARG ENTRY
WORKDIR /app
COPY --from=build /app .
RUN printf '#!/bin/sh\nexec dotnet /app/%s.dll "$@"\n' "$ENTRY" > /app/run && chmod +x /app/run
# Our images say so: an image a rebuild left without a tag can be told from others and removed.
LABEL org.regeneration.image="true"
ENTRYPOINT ["/app/run"]
