/** The MongoDB destination's options (`destination.mongodb`). */
import { z } from 'zod';
import { MONGO_DEFAULT_PORT, caCert, hostList, nonEmpty, secret } from '../../config/primitives.js';

export const MONGO_ARCHITECTURES = ['replicaSet', 'shardedCluster'] as const;

export const mongoDestinationSchema = z
  .strictObject({
    uri: z.string().min(1).optional().describe('Connection string. Either `uri` or `hosts`; its password is masked in logs. `authDatabase` and `encryption` are added where the URI does not say them; a contradiction is refused.'),
    hosts: hostList(MONGO_DEFAULT_PORT).optional().describe('Member or mongos addresses (`host:port`). Either `uri` or `hosts`.'),
    user: nonEmpty().optional().describe('Account with dbAdminAnyDatabase and read/write on the destination databases.'),
    password: secret('Password of the account').optional(),
    authDatabase: nonEmpty().default('admin').describe('Authentication database.'),
    architecture: z.enum(MONGO_ARCHITECTURES).default('replicaSet').describe('Destination architecture, checked by the precheck (`shardedCluster`: the addresses must be mongos).'),
    encryption: z.enum(['none', 'ssl']).default('none').describe('Connection encryption.'),
    caCert: caCert(),
    replay: z
      .enum(['concurrent', 'singleThread'])
      .default('concurrent')
      .describe('Incremental replay: concurrent by key, or one thread (collections with unique indexes or capped collections always replay on one thread).'),
  })
  .describe('MongoDB destination (replica set or sharded cluster).');

export type MongoDestinationConfig = z.output<typeof mongoDestinationSchema>;
