package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

import java.util.List;

/**
 * A {@link Node} whose plugins are classes on the classpath. In this package because
 * {@code Node(NodeConstruction)}, {@code NodeConstruction.prepareConstruction} and
 * {@link NodeServiceProvider} are package-private.
 */
public class ClasspathNode extends Node {

    public ClasspathNode(Environment environment, List<Class<? extends Plugin>> plugins) {
        super(
            NodeConstruction.prepareConstruction(
                environment,
                ClasspathPluginsService.emptyLoader(),
                new NodeServiceProvider() {
                    @Override
                    PluginsService newPluginService(Environment env, PluginsLoader loader) {
                        return new ClasspathPluginsService(env, plugins);
                    }
                },
                true // forbidPrivateIndexSettings, as a production node does
            )
        );
    }
}
