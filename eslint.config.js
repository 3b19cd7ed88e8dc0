import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering (docs/ARCHITECTURE.md): each folder of src/ may import the folders
 * listed for it, and only through their index.ts. Bottom first.
 */
const LAYERS = {
  core: [],
  obs: [],
  wallet: ['core', 'obs'],
  chain: ['core', 'obs'],
  mempool: ['core', 'obs', 'chain'],
  miner: ['core', 'obs', 'chain', 'mempool'],
  p2p: ['core', 'obs', 'chain', 'mempool', 'miner'],
  api: ['core', 'obs', 'chain', 'mempool', 'miner', 'p2p', 'wallet'],
  daemon: ['core', 'obs', 'chain', 'mempool', 'miner', 'p2p', 'api', 'wallet'],
  cli: ['core', 'obs', 'chain', 'mempool', 'miner', 'p2p', 'api', 'daemon', 'wallet'],
};
/** Inside core the same holds for its subfolders (errors.ts sits below them all). */
const CORE_LAYERS = {
  crypto: [],
  primitives: ['crypto'],
  script: ['crypto', 'primitives'],
  consensus: ['crypto', 'primitives', 'script'],
};

/** Leaving the file's folder for another one, and not for that folder's index.js. */
const INTERNALS = {
  regex: String.raw`^(\.\./)+[^./][^/]*/(?!index\.js$)`,
  message: "import another folder only through its index.js (its public API), e.g. '../core/index.js'",
};

const forbidden = (folders, self, allowed, what) => {
  const above = Object.keys(folders).filter((name) => name !== self && !allowed.includes(name));
  return above.length === 0
    ? []
    : [
        {
          regex: String.raw`^(\.\./)+(${above.join('|')})/`,
          message: `${what} imports no layer above it: only ${allowed.join(', ') || 'its own files'} (docs/ARCHITECTURE.md)`,
        },
      ];
};

const layering = [
  // A folder not listed yet still imports others only through their index.
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [INTERNALS] }] } },
  ...Object.entries(LAYERS).map(([layer, allowed]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [INTERNALS, ...forbidden(LAYERS, layer, allowed, `src/${layer}`)] },
      ],
    },
  })),
  ...Object.entries(CORE_LAYERS).map(([sub, allowed]) => ({
    files: [`src/core/${sub}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            INTERNALS,
            ...forbidden(LAYERS, 'core', [], 'src/core'),
            ...forbidden(CORE_LAYERS, sub, allowed, `src/core/${sub}`),
          ],
        },
      ],
    },
  })),
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  ...layering,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
