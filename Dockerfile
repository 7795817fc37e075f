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
# @temporalio/* are peer (and dev) dependencies of the package, so that an application brings its own
# SDK. This image is such an application: it keeps them as its own dependencies, at the lock file's
# versions, and drops the dev tools.
RUN npm run build \
 && node -e 'const fs = require("node:fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8")); \
      for (const [n, v] of Object.entries(p.devDependencies)) if (n.startsWith("@temporalio/")) p.dependencies[n] = v; \
      delete p.devDependencies; delete p.peerDependencies; fs.writeFileSync("package.json", JSON.stringify(p, null, 2));' \
 && npm install --omit=dev --no-audit --no-fund
ENV NODE_ENV=production
USER node
# The variables and the Node flag of the bin's #! line (src/cli/main.ts, which says why each is
# there; README, Operations, has the measurements), which `node file` does not read.
# test/integration/compose.test.ts keeps the two in step.
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_MMAP_THRESHOLD_=4194304
CMD ["node", "--initial-old-space-size=128", "dist/bin/pg-parquet.js", "worker"]
