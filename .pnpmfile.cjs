// What `pnpm pack` / `pnpm publish` put into a published package's manifest.
// The `@hearth/source` export condition points at ./src, which is the workspace's development
// path and is not in the tarball; devDependencies name private workspace packages (@hearth/api)
// that exist in no registry. Neither means anything to a consumer.
function withoutSourceCondition(exports) {
  if (exports === null || typeof exports !== 'object' || Array.isArray(exports)) return exports;
  const result = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key !== '@hearth/source') result[key] = withoutSourceCondition(value);
  }
  return result;
}

module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.exports) pkg.exports = withoutSourceCondition(pkg.exports);
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
