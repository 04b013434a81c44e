// Embedded Neo4j community DBMS for the local stack, serving Bolt only (started by infra/stack/neo4j.py).
//
// Usage: java <flags> -cp '<launcher.jar>:<lib>/*' Launcher <home-dir> <bolt-port> [--exit-when-started]
// (infra/stack/neo4j.py compiles it at install; the JDK source launcher also works.)
// --exit-when-started stops right after start-up: a training run for a class-data-sharing archive.
// Credentials come from NEO4J_USER / NEO4J_PASSWORD (user default neo4j; the password has no default), from the
// environment so they never show up in `ps`. Runs until SIGTERM, then shuts the DBMS down cleanly.

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;

public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        boolean exitWhenStarted = args.length == 3 && args[2].equals("--exit-when-started");
        if (args.length != 2 && !exitWhenStarted) {
            System.err.println("usage: Launcher <home-dir> <bolt-port> [--exit-when-started]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String user = System.getenv().getOrDefault("NEO4J_USER", "neo4j");
        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "");
        if (password.isEmpty()) {
            // No built-in default: `tracktion stack up` generates it into .stack/credentials.env.
            System.err.println("NEO4J_PASSWORD is not set (tracktion stack up generates it)");
            System.exit(2);
        }
        try {
            run(home, port, user, password, exitWhenStarted);
        } catch (Throwable e) {
            // The DBMS's non-daemon threads would otherwise keep a half-started JVM alive
            // (e.g. when the port is taken); exiting runs the shutdown hook if it was added.
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(Path home, int port, String user, String password, boolean exitWhenStarted)
            throws Exception {
        long started = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                // Loopback only: the stack is for this machine, and nothing else may listen.
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress("127.0.0.1"))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // Bolt opens before setCredentials() below has run, so `stack up`'s early pings
                // fail auth; the default lockout (3 failures -> 5 s) would then delay start-up.
                .setConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                // Usage reports would try to phone home; the machine has no internet anyway.
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Small footprint: dev/test data sets, shared 2-core box.
                .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "64M size")
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 32L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(5))
                // Bolt's default shutdown waits ~10s for idle threads/connections (2 x 5s) and
                // netty's quiet period; a dev stack should stop in a couple of seconds.
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("neo4j: shutting down");
            dbms.shutdown();
            System.out.println("neo4j: stopped");
            stopped.countDown();
        }, "neo4j-shutdown"));

        setCredentials(dbms, user, password);
        // Block until the store is open, so "started" means Bolt queries will succeed.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.printf("neo4j: started, bolt://127.0.0.1:%d, home %s, %.1fs%n",
                port, home, (System.nanoTime() - started) / 1e9);
        System.out.flush();
        if (exitWhenStarted) {
            System.exit(0);  // runs the shutdown hook, then the JVM writes its CDS archive
        }
        stopped.await();
    }

    /**
     * Embedded Neo4j creates user neo4j with password "neo4j" that must be changed before use.
     * Embedded transactions run with full rights, so set the project's user and password directly
     * on the system database (community edition: every user may do everything). Idempotent:
     * every start re-asserts them, so new NEO4J_USER / NEO4J_PASSWORD values apply on restart.
     */
    private static void setCredentials(DatabaseManagementService dbms, String user, String password) {
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        Map<String, Object> params = Map.of("user", user, "password", password);
        system.executeTransactionally(
                "CREATE USER $user IF NOT EXISTS SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
                params);
        try {
            system.executeTransactionally(
                    "ALTER USER $user SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED", params);
        } catch (QueryExecutionException e) {
            // Neo4j refuses to "change" a password to its current value: already set, fine.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
    }
}
