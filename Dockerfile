# Hearth's server image: `docker build -t hearth .` then see docker-compose.yml and docs/deploy.md.
# Stage 1 installs and builds the whole workspace; stage 2 keeps only what the server runs:
# @hearth/server's bundle with the dependencies it loads at run time (pnpm deploy) and the built web app.
FROM node:20-bookworm-slim AS build
ENV CI=true
WORKDIR /src
COPY . .
RUN npx --yes pnpm@10.34.8 install --frozen-lockfile \
 && npx --yes pnpm@10.34.8 build \
 && npx --yes pnpm@10.34.8 --filter @hearth/server deploy --prod --legacy /out

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=8787 \
    HEARTH_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /out ./
COPY --from=build --chown=node:node /src/apps/server/dist ./dist
# Where the server looks for the built app: apps/web/dist beside apps/server, so /web/dist here.
COPY --from=build --chown=node:node /src/apps/web/dist /web/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
