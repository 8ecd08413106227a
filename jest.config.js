// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const swcTransform = Object.values(base.transform)[0];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  transform: {
    ...base.transform,
    // @grafana/* 13 pull in ESM-only .mjs files (d3-color), which the scaffold's transform does not match.
    '^.+\\.mjs$': swcTransform,
  },
};
