# One image per app: docker build --build-arg APP=ingestion -t tally-ingestion .
# (docker-compose.yml builds all four.) The image runs the compiled JavaScript (`nx run <app>:build`);
# it holds production dependencies only (`npm ci --omit=dev`): no TypeScript tooling, no embedded Postgres.
FROM node:24-bookworm-slim AS build
ARG APP
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY nx.json tsconfig.base.json ./
COPY tools/build tools/build
COPY libs libs
COPY apps apps
COPY catalogs catalogs
RUN npx nx run ${APP}:build

FROM node:24-bookworm-slim
ARG APP
# A V8 heap limit of 1 GiB, ten times any live heap measured (docs/operations.md, "Memory"): with the default limit
# (a quarter of the machine's memory, up to 4 GiB) V8 lets the old generation grow to about 4× the live heap before
# collecting, which put peaks near 300 MB; under 1 GiB it collects at about 1.6×. An operator who sets NODE_OPTIONS
# replaces this: keep a heap limit in it, below the container's memory limit.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 NODE_OPTIONS="--max-old-space-size=1024"
WORKDIR /srv/tally
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /build/dist/apps/${APP} dist
EXPOSE 3000
USER node
CMD ["node", "dist/main.js"]
