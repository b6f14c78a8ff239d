using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Turn.Tests.Signal;

/// <summary>Keeps what the test server logs, so that a failing test can say why a connection closed.</summary>
internal sealed class ServerLog : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The lines with <paramref name="text"/> in them, one a line.</summary>
    public string Matching(string text) => string.Join(Environment.NewLine, Lines.Where(l => l.Contains(text, StringComparison.Ordinal)));

    public void Dispose()
    {
    }

    private sealed class Logger(ServerLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string line = $"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}";
            log.Lines.Enqueue(exception is null ? line : $"{line} {exception.GetType().Name}: {exception.Message}");
        }
    }
}
