import { z } from '@hono/zod-openapi';
import { idSchema } from '@runtools/sdk/api';

/** `{id}` in a path. */
export const idParamSchema = z.object({
  id: idSchema.meta({ param: { name: 'id', in: 'path' } }),
});
