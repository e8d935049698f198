# One image per app: docker build --build-arg APP=ingestion -t tally-ingestion .
# (docker-compose.yml builds all four.) Runs the TypeScript sources through SWC, like `npm start`.
FROM node:20-bookworm-slim
ARG APP
ENV NODE_ENV=production APP=${APP} HOST=0.0.0.0 PORT=3000
WORKDIR /srv/tally
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false
COPY tsconfig.base.json ./
COPY tools/run-ts.cjs tools/
COPY libs libs
COPY apps/${APP} apps/${APP}
EXPOSE 3000
USER node
CMD ["sh", "-c", "exec node tools/run-ts.cjs apps/${APP}/src/main.ts"]
