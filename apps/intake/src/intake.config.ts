import type { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';

/** Intake reads the org's AGPU balance from the chain to check a budget against it. */
export const intakeConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape);
export type IntakeConfig = z.output<typeof intakeConfigSchema>;
