using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Turn.Hosting;

/// <summary>
/// The daemon's signals, without the framework's "press Ctrl+C" banner: SIGINT and SIGQUIT stop
/// at once; SIGTERM drains for at most Drain:ShutdownSeconds, then stops (a second one stops at
/// once); SIGHUP reloads the configuration; SIGUSR1 starts a drain.
/// </summary>
internal sealed class DaemonLifetime(IHostApplicationLifetime lifetime, IServiceProvider services) : IHostLifetime, IDisposable
{
    /// <summary>SIGUSR1 on Linux; .NET has no name for it, and takes the raw number.</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _terms;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        Register(PosixSignal.SIGINT, lifetime.StopApplication);
        Register(PosixSignal.SIGQUIT, lifetime.StopApplication);
        Register(PosixSignal.SIGTERM, () =>
        {
            if (Interlocked.Increment(ref _terms) > 1 || Operations is not { } operations)
            {
                lifetime.StopApplication();
                return;
            }

            operations.Shutdown();
        });
        // Started under nohup, SIGHUP arrives ignored, and .NET leaves an inherited SIG_IGN alone:
        // take it back first, so a reload by signal works however the daemon was started.
        if (Transport.Linux.Libc.Available())
        {
            Transport.Linux.Libc.DefaultSignal(Transport.Linux.Libc.SigHup);
        }

        Register(PosixSignal.SIGHUP, () => _ = Task.Run(() =>
        {
            try
            {
                Operations?.Reload("SIGHUP");
            }
            catch (ObjectDisposedException)
            {
            }
        }));
        Register(SigUsr1, () => Operations?.Drain("SIGUSR1"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private DaemonOperations? Operations => services.GetService<DaemonOperations>();

    private void Register(PosixSignal signal, Action action)
        => _registrations.Add(PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            try
            {
                action();
            }
            catch (ObjectDisposedException)
            {
                // The host is already being torn down: it is stopping anyway.
            }
        }));
}
