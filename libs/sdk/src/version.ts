/** The package's version (libs/sdk/package.json; a spec keeps them equal). */
export const SDK_VERSION = '0.1.0';
