import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';

export const intakeConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape);
