// oidc-provider ships no type declarations; the test helper uses it through `any`.
declare module 'oidc-provider';
