package dev.tributary.testservers;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

import java.util.List;

/**
 * Test-only launcher: de.bwaldvogel mongo-java-server, in-memory backend, oplog enabled.
 *
 * <pre>
 * MongoJavaServerMain [--host 127.0.0.1] [--port 27118] [--replset NAME | --mongos] [--wire-version N]
 * </pre>
 *
 * mongo-java-server 1.47's newest {@code ServerVersion} (MONGO_5_0) announces maxWireVersion 8,
 * which the Node driver 7.x refuses (it needs 9+). {@code --wire-version N} only changes the
 * number the hello/isMaster reply announces (version 5.0.0 is reported); nothing else in the
 * server reads it.
 *
 * {@code hello} is answered like {@code isMaster}. With {@code --replset NAME} the reply also
 * carries the replica-set fields (setName, hosts, primary, me, electionId, setVersion), so drivers
 * treat the single server as the primary of a one-member replica set. The server itself has no
 * replication.
 *
 * {@code --mongos} makes hello/isMaster answer like a mongos ({@code msg: "isdbgrid"}, no set
 * fields), so drivers and Tributary's precheck see a sharded cluster's router. It routes nothing:
 * the sharded-cluster test writes the union of its shards' data into it (see docs/mongo-servers.md).
 */
public final class MongoJavaServerMain {
    private MongoJavaServerMain() {}

    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = 27118;
        String replSet = null;
        Integer wireVersion = null;
        boolean mongos = false;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--host" -> { host = require(args[i], value); i++; }
                case "--port" -> { port = Integer.parseInt(require(args[i], value)); i++; }
                case "--replset" -> { replSet = require(args[i], value); i++; }
                case "--wire-version" -> { wireVersion = Integer.valueOf(require(args[i], value)); i++; }
                case "--mongos" -> mongos = true;
                default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
            }
        }
        String me = host + ":" + port;
        if (mongos && replSet != null) throw new IllegalArgumentException("--mongos and --replset exclude each other");
        MemoryBackend backend = new HelloBackend(replSet, me, mongos);
        backend.version(wireVersion == null ? ServerVersion.MONGO_5_0 : new AnnouncedVersion(wireVersion));
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + me
            + (replSet == null ? "" : " (hello reports replica set " + replSet + ")") + (mongos ? " (hello reports mongos)" : "") + ", oplog enabled");
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        Thread.currentThread().join();
    }

    private static String require(String flag, String value) {
        if (value == null) throw new IllegalArgumentException(flag + " needs a value");
        return value;
    }

    /** Version 5.0.0 with a chosen maxWireVersion. */
    record AnnouncedVersion(int wire) implements MongoVersion {
        @Override public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
        @Override public int getWireVersion() { return wire; }
    }

    /**
     * Answers {@code hello} like {@code isMaster} (1.47 knows only isMaster) and, when a set name
     * is given, adds the replica-set fields to both replies.
     */
    static final class HelloBackend extends MemoryBackend {
        private final String setName;
        private final String me;
        private final boolean mongos;
        private final Object electionId = new de.bwaldvogel.mongo.bson.ObjectId();

        HelloBackend(String setName, String me, boolean mongos) {
            this.setName = setName;
            this.me = me;
            this.mongos = mongos;
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            boolean hello = command.equals("hello");
            Document reply = super.handleCommand(channel, databaseName, hello ? "isMaster" : command, query);
            if (hello) {
                reply.put("isWritablePrimary", reply.remove("ismaster"));
            }
            if (mongos && (hello || command.equalsIgnoreCase("ismaster"))) {
                reply.put("msg", "isdbgrid");
            }
            if (setName != null && (hello || command.equalsIgnoreCase("ismaster"))) {
                reply.put("setName", setName);
                reply.put("setVersion", 1);
                reply.put("hosts", List.of(me));
                reply.put("primary", me);
                reply.put("me", me);
                reply.put("secondary", false);
                reply.put("electionId", electionId);
            }
            return reply;
        }
    }
}
