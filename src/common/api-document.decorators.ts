import { ApiExtension, ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * Markers that only the document's finishing pass (`src/openapi.ts`) reads, then removes: what
 * Nest's decorators cannot say per operation. They never reach the published document.
 */
export const X_BODY_BY_TYPE = 'x-body-by-type';
export const X_WITHOUT_DATABASE = 'x-without-database';

/**
 * A request body whose schema depends on its media type (the OAuth2 form or JSON; an event or a
 * CloudEvent): `@ApiBodyByType({'application/json': schema, ...})`. `@ApiBody` gives every media
 * type of the route the same schema.
 */
export const ApiBodyByType = (schemas: Record<string, SchemaObject | ReferenceObject>) =>
  ApiExtension(X_BODY_BY_TYPE, schemas);

/** A route that answers without the database, so never 503 `database_unavailable` (liveness). */
export const ApiWithoutDatabase = () => ApiExtension(X_WITHOUT_DATABASE, true);

/** A header of the document's `components.headers` (src/openapi.ts declares them). */
export const headerRef = (name: 'Retry-After' | 'X-Request-Id' | `RateLimit${string}`) => ({
  $ref: `#/components/headers/${name}`,
});
