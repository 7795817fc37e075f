# The pg-parquet worker image, built by docker-compose.yml (`docker compose up --build worker`).
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
ENV NODE_ENV=production
USER node
CMD ["node", "dist/src/cli/main.js", "worker"]
