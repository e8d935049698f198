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
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /srv/tally
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /build/dist/apps/${APP} dist
EXPOSE 3000
USER node
CMD ["node", "dist/main.js"]
