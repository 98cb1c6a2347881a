# Builds one Regeneration .NET program (a service or the demo-data loader).
#   docker build -f deploy/service.Dockerfile --build-arg PROJECT=services/Projects/Regeneration.Projects.csproj .
# Base images are build arguments so that a machine without a registry can point them at local images.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ARG PROJECT
WORKDIR /src
COPY . .
RUN dotnet publish "$PROJECT" -c Release -o /app --nologo

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app .
ARG ENTRY_DLL
ENV ENTRY_DLL=${ENTRY_DLL}
ENTRYPOINT ["sh", "-c", "exec dotnet /app/$ENTRY_DLL \"$@\"", "--"]
