"""Built-in plugins: loaded through the same hooks and rules as any third-party plugin."""
