# One image per app: docker build --build-arg APP=kvstore-proxy -t kvforge/kvstore-proxy .
# The app bundles its workspace packages (tsup), so the runtime stage holds only dist/ and the
# app's third-party production dependencies (pnpm deploy).
ARG NODE_VERSION=20
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG APP
RUN test -n "$APP" || (echo "--build-arg APP=<apps/ folder name> is required" && exit 1)
RUN npm install --global pnpm@10.34.9
WORKDIR /repo
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm turbo run build --filter "@kvforge/app-${APP}" \
 && pnpm --filter "@kvforge/app-${APP}" deploy --prod --legacy /out

FROM node:${NODE_VERSION}-bookworm-slim
ARG APP
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
USER node
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["--help"]
