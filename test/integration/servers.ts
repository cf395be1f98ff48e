/** Where the real test servers listen. Started by scripts/servers.sh; see README "Tests". */
export const servers = {
  postgres: {
    host: '127.0.0.1',
    port: Number(process.env.TRIBUTARY_PG_PORT ?? 15432),
    user: 'postgres',
    database: 'postgres',
  },
  kafka: {
    brokers: (process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
    saslBrokers: [`127.0.0.1:${Number(process.env.TRIBUTARY_KAFKA_PORT ?? 19092) + 2}`],
    saslUser: process.env.TRIBUTARY_KAFKA_SASL_USER ?? 'tributary',
    saslPassword: process.env.TRIBUTARY_KAFKA_SASL_PASSWORD ?? 'tributary-secret',
  },
} as const;
