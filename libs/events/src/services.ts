/**
 * The services that park events they cannot apply and answer the operator's parking commands
 * (`COMMANDS.<service>.listParked` / `retryParked`; commands.ts checks each has them). A file of its
 * own so the API's schemas can name them without importing the command catalogue.
 */
export const SERVICES_WITH_PARKING = ['gateway', 'registry', 'intake', 'matching', 'deployer', 'settlement'] as const;
export type ServiceWithParking = (typeof SERVICES_WITH_PARKING)[number];
