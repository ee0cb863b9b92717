package org.citynet.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.internal.kernel.api.connectioninfo.ClientConnectionInfo;
import org.neo4j.internal.kernel.api.security.AuthenticationResult;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.api.security.AuthManager;
import org.neo4j.kernel.api.security.AuthToken;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * citynet's local Neo4j 5.26 Community server: the DBMS from Maven Central with Bolt on localhost.
 *
 * <pre>
 * CITYNET_NEO4J_PASSWORD=secret java -Xmx768m -cp 'citynet-neo4j-server.jar:lib/*' \
 *     org.citynet.neo4j.CitynetNeo4jServer --home DIR --port 7687 [--pagecache 256m] [--watch-pid PID] \
 *     [--setting db.tx_state.memory_allocation=OFF_HEAP ...]
 * </pre>
 *
 * {@code --setting KEY=VALUE} passes any neo4j.conf setting through (validated by Neo4j, which
 * refuses unknown keys and bad values); Bolt's address and authentication stay this launcher's.
 *
 * The password of user {@code neo4j} comes from the environment (never the command line, which
 * other users can read). It is set through the system database at every start, so a restart with a
 * new password works (when the password already is the requested one, a login check, about 0.1 s,
 * replaces the Cypher statement, whose first run costs seconds on a cold JVM). The process prints {@code citynet-neo4j: ready bolt://127.0.0.1:PORT} once
 * the password is in place, shuts the DBMS down cleanly on SIGTERM, and with {@code --watch-pid}
 * also when that process (e.g. the test session) disappears.
 */
public final class CitynetNeo4jServer {
    static final String PASSWORD_ENV = "CITYNET_NEO4J_PASSWORD";
    static final String READY_MARKER = "citynet-neo4j: ready";

    private CitynetNeo4jServer() {}

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        String password = System.getenv(PASSWORD_ENV);
        if (password == null || password.isEmpty()) {
            fail("set the password of user neo4j in the environment variable " + PASSWORD_ENV);
        }
        Files.createDirectories(options.home);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(options.home);
        if (!options.settings.isEmpty()) {
            builder.loadPropertiesFromFile(writeSettings(options.home, options.settings));
        }
        DatabaseManagementService dbms;
        try {
            dbms = builder
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", options.port))
                    .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", options.port))
                    .setConfig(GraphDatabaseSettings.auth_enabled, true)
                    .setConfig(GraphDatabaseSettings.pagecache_memory, options.pageCacheBytes)
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    .build();
        } catch (IllegalArgumentException e) {
            // a bad --setting (unknown key, bad value): Neo4j's own message, without the stack trace
            fail("invalid Neo4j setting: " + e.getMessage());
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("citynet-neo4j: shutting down");
            dbms.shutdown();
            System.out.println("citynet-neo4j: stopped");
            System.out.flush();
            stopped.countDown();
        }, "citynet-neo4j-shutdown"));

        setPassword(dbms, password);
        if (options.watchPid > 0) {
            watchParent(options.watchPid);
        }
        System.out.println(READY_MARKER + " bolt://127.0.0.1:" + options.port);
        System.out.flush();
        stopped.await();
    }

    /** The {@code --setting} pairs as a neo4j.conf file in {@code home} (rewritten at every start). */
    private static Path writeSettings(Path home, Map<String, String> settings) throws java.io.IOException {
        StringBuilder text = new StringBuilder("# written by citynet's launcher from its --setting options\n");
        settings.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        Path file = home.resolve("citynet-settings.conf");
        Files.writeString(file, text.toString());
        return file;
    }

    /** Set (or reset) the password of user neo4j; embedded transactions run with full rights. */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        if (isCurrentPassword(dbms, password)) {
            return;
        }
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            if (!message.contains("cannot be the same")) {
                throw e;
            }
            // The stored password already is the requested one: nothing to do.
        }
    }

    /** True when user neo4j logs in with {@code password} without a required change. Any failure of
     *  this check (an internal API of Neo4j 5.26) answers false: the password is then set anyway. */
    private static boolean isCurrentPassword(DatabaseManagementService dbms, String password) {
        try {
            AuthManager auth = ((GraphDatabaseAPI) dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME))
                    .getDependencyResolver().resolveDependency(AuthManager.class);
            return auth.login(AuthToken.newBasicAuthToken("neo4j", password), ClientConnectionInfo.EMBEDDED_CONNECTION)
                    .subject().getAuthenticationResult() == AuthenticationResult.SUCCESS;
        } catch (Exception | LinkageError e) {
            return false;
        }
    }

    /** Exit (running the shutdown hook) when the process with id {@code pid} is gone. */
    private static void watchParent(long pid) {
        Thread watcher = new Thread(() -> {
            while (true) {
                boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                if (!alive) {
                    System.out.println("citynet-neo4j: process " + pid + " is gone");
                    System.exit(0);
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "citynet-neo4j-watch-parent");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static void fail(String message) {
        System.err.println("citynet-neo4j: error: " + message);
        System.exit(2);
    }

    /** Command-line options. */
    private record Options(Path home, int port, long pageCacheBytes, long watchPid, Map<String, String> settings) {
        static Options parse(String[] args) {
            Map<String, String> settings = new LinkedHashMap<>();
            Path home = null;
            int port = 7687;
            long pageCache = ByteUnit.mebiBytes(256);
            long watchPid = 0;
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--home" -> home = Path.of(require(args[i], value));
                    case "--port" -> port = Integer.parseInt(require(args[i], value));
                    case "--pagecache" -> pageCache = ByteUnit.parse(require(args[i], value));
                    case "--watch-pid" -> watchPid = Long.parseLong(require(args[i], value));
                    case "--setting" -> {
                        String pair = require(args[i], value);
                        int eq = pair.indexOf('=');
                        if (eq <= 0) {
                            fail("--setting needs KEY=VALUE, got " + pair);
                        }
                        settings.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
                    }
                    default -> fail("unknown option " + args[i]
                            + " (usage: --home DIR --port N [--pagecache 256m] [--watch-pid PID] [--setting KEY=VALUE])");
                }
                i++;
            }
            if (home == null) {
                fail("--home DIR is required");
            }
            return new Options(home.toAbsolutePath(), port, pageCache, watchPid, settings);
        }

        private static String require(String option, String value) {
            if (value == null) {
                fail(option + " needs a value");
            }
            return value;
        }
    }
}
