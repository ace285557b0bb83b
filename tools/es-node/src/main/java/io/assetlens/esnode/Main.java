package io.assetlens.esnode;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.ClasspathNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one Elasticsearch node (server + transport-netty4 from Maven Central) and blocks until
 * SIGTERM/SIGINT. Prints {@code ES_NODE_READY http://HOST:PORT} on stdout once HTTP is bound.
 *
 * <pre>
 * java -Xms512m -Xmx1g --enable-native-access=ALL-UNNAMED -cp 'es-node.jar:lib/*' io.assetlens.esnode.Main \
 *   [--http-port N] [--transport-port N] [--data-dir DIR] [--cluster-name NAME] [--node-name NAME]
 *   [-Esetting=value ...]
 * </pre>
 * Defaults come from ASSETLENS_ES_PORT, ASSETLENS_ES_TRANSPORT_PORT, ASSETLENS_ES_DATA_DIR and
 * ASSETLENS_ES_CLUSTER_NAME, then 9200 / 9300 / ./es-data / assetlens. {@code -E} settings (e.g.
 * discovery.seed_hosts for a multi-node cluster) override the built-in ones.
 */
public final class Main {

    private Main() {}

    public static void main(String[] args) throws Exception {
        String httpPort = env("ASSETLENS_ES_PORT", "9200");
        String transportPort = env("ASSETLENS_ES_TRANSPORT_PORT", "9300");
        String dataDir = env("ASSETLENS_ES_DATA_DIR", "es-data");
        String clusterName = env("ASSETLENS_ES_CLUSTER_NAME", "assetlens");
        String nodeName = null;
        Settings.Builder extra = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("-E") && arg.contains("=")) {
                int eq = arg.indexOf('=');
                extra.put(arg.substring(2, eq), arg.substring(eq + 1));
                continue;
            }
            if (i + 1 >= args.length) {
                usage("missing value for " + arg);
            }
            String value = args[++i];
            switch (arg) {
                case "--http-port" -> httpPort = value;
                case "--transport-port" -> transportPort = value;
                case "--data-dir" -> dataDir = value;
                case "--cluster-name" -> clusterName = value;
                case "--node-name" -> nodeName = value;
                default -> usage("unknown argument " + arg);
            }
        }

        configureLogging();

        Path root = Path.of(dataDir).toAbsolutePath();
        Path home = root.resolve("home");
        Path config = home.resolve("config");
        Files.createDirectories(config);
        configureNativeAccess(home);
        Settings settings = Settings.builder()
            .put("cluster.name", clusterName)
            .put("node.name", nodeName != null ? nodeName : clusterName + "-node")
            .put("path.home", home.toString())
            .put("path.data", root.resolve("data").toString())
            .put("path.logs", root.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            // node.processors may not exceed the cores the JVM sees.
            .put("node.processors", Math.min(2, Runtime.getRuntime().availableProcessors()))
            // The real-memory breaker trips easily in a 1 GiB heap under bulk load.
            .put("indices.breaker.total.use_real_memory", false)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put(extra.build())
            .build();

        Node node;
        try {
            node = new ClasspathNode(new Environment(settings, config), List.of(Netty4Plugin.class));
        } catch (Exception e) {
            failed(e);
            return;
        }
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                LogManager.shutdown();
                closed.countDown();
            }
        }, "es-node-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            failed(e); // the shutdown hook closes the half-started node
        }
        var address = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        System.out.println("ES_NODE_READY http://" + address.getAddress() + ":" + address.getPort());
        System.out.flush();
        closed.await();
    }

    /** Log4j console at WARN, set up before any Elasticsearch class asks for a logger. */
    private static void configureLogging() {
        // Our shutdown hook still logs while closing the node; log4j's own hook would stop it first.
        System.setProperty("log4j2.shutdownHookEnabled", "false");
        System.setProperty("log4j2.disable.jmx", "true");
        ConfigurationBuilder<BuiltConfiguration> b = ConfigurationBuilderFactory.newConfigurationBuilder();
        b.setStatusLevel(Level.ERROR);
        b.add(b.newAppender("console", "Console")
            .add(b.newLayout("PatternLayout").addAttribute("pattern", "[%d{ISO8601}][%-5p][%c{1.}] %m%n")));
        b.add(b.newRootLogger(Level.WARN).add(b.newAppenderRef("console")));
        Configurator.initialize(b.build());
        LogConfigurator.configureESLogging();
    }

    /**
     * Native access (libc calls, zstd for best_compression) loads its libraries from
     * ${es.path.home}/lib/platform/OS-ARCH, which a distribution ships and Maven does not. Any
     * missing library disables ALL native methods, so: point es.path.home at our home, link the
     * system's libzstd there, and turn off Elastic's own SIMD vector library (libvec, not
     * published; Lucene's Panama vector code is used instead).
     */
    private static void configureNativeAccess(Path home) throws IOException {
        System.setProperty("es.path.home", home.toString());
        if (System.getProperty("org.elasticsearch.nativeaccess.enableVectorLibrary") == null) {
            System.setProperty("org.elasticsearch.nativeaccess.enableVectorLibrary", "false");
        }
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x64";
            case "aarch64" -> "aarch64";
            default -> null;
        };
        if (arch == null || !System.getProperty("os.name").startsWith("Linux")) {
            return; // elsewhere native access stays disabled (a warning at start); all else works
        }
        Path link = home.resolve("lib/platform/linux-" + arch + "/libzstd.so");
        if (Files.exists(link)) {
            return;
        }
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/local/lib", "/usr/lib")) {
            Path lib = Path.of(dir, "libzstd.so.1");
            if (Files.isReadable(lib)) {
                Files.createDirectories(link.getParent());
                Files.createSymbolicLink(link, lib);
                return;
            }
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    /** Some Elasticsearch threads are not daemons: exit explicitly so a failed start ends the JVM. */
    private static void failed(Exception e) {
        System.err.println("es-node: failed to start: " + e);
        e.printStackTrace();
        System.exit(1);
    }

    private static void usage(String problem) {
        System.err.println("es-node: " + problem);
        System.err.println("usage: Main [--http-port N] [--transport-port N] [--data-dir DIR]"
            + " [--cluster-name NAME] [--node-name NAME] [-Ekey=value ...]");
        System.exit(2);
    }
}
