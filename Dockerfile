# Runtime image for the cloud and edge profiles.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production UL_HOST=0.0.0.0 UL_DATA_DIR=/var/lib/upstream-live UL_LOG_FORMAT=json
COPY --from=build /app /app
RUN mkdir -p /var/lib/upstream-live && chown node:node /var/lib/upstream-live
USER node
EXPOSE 1880 1881
ENTRYPOINT ["node", "bin/upstream-live.js", "start"]
