import type { z } from 'zod';

/**
 * The parts of a zod 4 schema's `def` that config tooling reads (flag parsing here, the README
 * reference tables in repo-checks). `def` is internal to zod but stable across 4.x.
 */
export interface ZodDefinition {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  defaultValue?: unknown;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  entries?: Record<string, string | number>;
  values?: readonly unknown[];
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  format?: string;
  checks?: readonly { _zod: { def: ZodCheckDefinition } }[];
  getter?: () => z.ZodType;
}

export interface ZodCheckDefinition {
  check: string;
  format?: string;
  value?: number;
  inclusive?: boolean;
}

export const zodDefinitionOf = (schema: z.ZodType): ZodDefinition =>
  (schema as unknown as { def: ZodDefinition }).def;
