using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Hosting;

/// <summary>
/// Keeps <see cref="HostAddresses"/> equal to the addresses of this host's interfaces while the
/// daemon runs, so that an address added after start (a new interface, DHCP, a floating IP) is
/// refused as a peer as soon as it exists. Two triggers: <see cref="NetworkChange.NetworkAddressChanged"/>,
/// which on Linux listens on a netlink socket for RTM_NEWADDR/RTM_DELADDR and fires within
/// milliseconds of a change; and a re-read every few seconds as a backstop, because netlink
/// delivery is not guaranteed (a full socket buffer drops notifications) and a missed one must
/// not leave a hole for longer than that.
/// </summary>
internal sealed class HostAddressMonitor(HostAddresses host, ILogger<HostAddressMonitor> logger) : IHostedService, IDisposable
{
    /// <summary>The backstop re-read interval.</summary>
    public static readonly TimeSpan Backstop = TimeSpan.FromSeconds(5);

    private const string StartTrigger = "start";

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>Every unicast address of every interface, whatever its state, and for IPv6 its prefix's subnet-router anycast address.</summary>
    public static IEnumerable<StunAddress> Read()
    {
        var addresses = new List<StunAddress>();
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (UnicastIPAddressInformation unicast in nic.GetIPProperties().UnicastAddresses)
            {
                IPAddress address = unicast.Address;
                if (address.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6))
                {
                    continue;
                }

                StunAddress own = StunAddress.FromIPEndPoint(new IPEndPoint(address, 0));
                addresses.Add(own);
                if (!own.IsIPv4 && unicast.PrefixLength is > 0 and < 128)
                {
                    // RFC 4291 §2.6.1: the subnet-router anycast address of each prefix, which Linux
                    // answers locally on a host that forwards (container and Kubernetes nodes).
                    UInt128 mask = UInt128.MaxValue << (128 - unicast.PrefixLength);
                    addresses.Add(new StunAddress(System.Net.Sockets.AddressFamily.InterNetworkV6, own.Address & mask, 0));
                }
            }
        }

        return addresses;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Refresh(StartTrigger);
        NetworkChange.NetworkAddressChanged += OnAddressChanged;
        _loop = BackstopLoop(_stop.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        NetworkChange.NetworkAddressChanged -= OnAddressChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    public void Dispose() => _stop.Dispose();

    private void OnAddressChanged(object? sender, EventArgs e) => Refresh("netlink");

    private async Task BackstopLoop(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Backstop);
        using CancellationTokenRegistration stop = timer.StopOn(cancellationToken);
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            Refresh("periodic re-read");
        }
    }

    /// <summary>Reads the interfaces and swaps the set in when it changed; never throws.</summary>
    private void Refresh(string trigger)
    {
        lock (_lock)
        {
            try
            {
                if (host.UpdateInterfaces(Read()) || trigger == StartTrigger)
                {
                    HostingLog.HostAddressesChanged(logger, trigger, string.Join(", ", host.Interfaces.Select(a => a.ToIPAddress())));
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                HostingLog.HostAddressesUnreadable(logger, e.Message);
            }
        }
    }
}
