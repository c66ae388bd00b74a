export const API_KEY_SCOPES = ['events:write', 'usage:read', 'verify'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
