using System.Net;
using Microsoft.Extensions.Configuration;
using Turn.Relay;

namespace Turn.Configuration;

/// <summary>
/// Builds the <see cref="TurnOptions"/> snapshot from configuration and checks it whole.
/// Start-up refuses to go on while <see cref="ValidationResult.Errors"/> is not empty; `turn
/// check-config` prints them all.
/// </summary>
internal static partial class TurnOptionsReader
{
    private static readonly string[] KnownTransports = ["udp", "tcp", "tls"];

    /// <summary>Sections owned by other components, not checked for unknown keys.</summary>
    private static readonly string[] ForeignSections = ["Logging"];

    public static ValidationResult Read(IConfiguration configuration)
    {
        var r = new ConfigReader(configuration);
        var defaults = new TurnOptions();

        var listen = new ListenOptions
        {
            Addresses = ReadAddresses(r, "Listen:Addresses", defaults.Listen.Addresses) ?? defaults.Listen.Addresses,
            UdpPort = r.Port("Listen:UdpPort", defaults.Listen.UdpPort),
            TcpPort = r.Port("Listen:TcpPort", defaults.Listen.TcpPort),
            TlsPort = r.Port("Listen:TlsPort", defaults.Listen.TlsPort),
            Transports = ReadTransports(r, defaults.Listen.Transports) ?? defaults.Listen.Transports,
            UdpThreads = r.Int("Listen:UdpThreads", defaults.Listen.UdpThreads, 0, 64),
            DataPlane = ReadDataPlane(r, defaults.Listen.DataPlane),
        };
        var tls = new TlsOptions
        {
            CertificateFile = r.Text("Tls:CertificateFile"),
            PrivateKeyFile = r.Text("Tls:PrivateKeyFile"),
        };
        var rfc5780 = new Rfc5780Options
        {
            AlternateAddress = r.Address("Rfc5780:AlternateAddress"),
            AlternatePort = r.Port("Rfc5780:AlternatePort", defaults.Rfc5780.AlternatePort),
        };
        var tcp = new TcpOptions
        {
            MaxConnections = r.Int("Tcp:MaxConnections", defaults.Tcp.MaxConnections, 1, 1_000_000),
            MaxConnectionsPerAddress = r.Int("Tcp:MaxConnectionsPerAddress", defaults.Tcp.MaxConnectionsPerAddress, 1, 1_000_000),
            IdleTimeoutSeconds = r.Int("Tcp:IdleTimeoutSeconds", defaults.Tcp.IdleTimeoutSeconds, 1, 86_400),
            HandshakeTimeoutSeconds = r.Int("Tcp:HandshakeTimeoutSeconds", defaults.Tcp.HandshakeTimeoutSeconds, 1, 600),
            FirstMessageSeconds = r.Int("Tcp:FirstMessageSeconds", defaults.Tcp.FirstMessageSeconds, 1, 600),
        };
        TurnOptions options = new()
        {
            Software = r.Text("Software", defaults.Software, 127),
            Listen = listen,
            Tls = tls,
            Rfc5780 = rfc5780,
            Tcp = tcp,
            Auth = ReadAuth(r, defaults.Auth),
            Relay = ReadRelay(r, defaults.Relay),
            Http = new HttpOptions
            {
                Urls = ReadUrls(r, "Http:Urls", defaults.Http.Urls) ?? defaults.Http.Urls,
                AllowedHosts = ReadHostNames(r, "Http:AllowedHosts") ?? defaults.Http.AllowedHosts,
                TrustedProxies = ReadPrefixes(r, "Http:TrustedProxies") ?? defaults.Http.TrustedProxies,
            },
            Signal = ReadSignal(r, defaults.Signal),
            Ice = new IceOptions
            {
                PublicHost = r.Text("Ice:PublicHost"),
                Urls = r.List("Ice:Urls") ?? [],
                CredentialTtlSeconds = r.Int("Ice:CredentialTtlSeconds", defaults.Ice.CredentialTtlSeconds, 60, 7 * 86_400),
            },
            Metrics = new MetricsOptions
            {
                Enabled = r.Bool("Metrics:Enabled", defaults.Metrics.Enabled),
                Urls = ReadUrls(r, "Metrics:Urls", defaults.Metrics.Urls) ?? defaults.Metrics.Urls,
            },
            Admin = new AdminOptions { ApiKey = ReadSecret(r, "Admin:ApiKey") },
            Drain = new DrainOptions
            {
                DeadlineSeconds = r.Int("Drain:DeadlineSeconds", defaults.Drain.DeadlineSeconds, 0, 7 * 86_400),
                ShutdownSeconds = r.Int("Drain:ShutdownSeconds", defaults.Drain.ShutdownSeconds, 0, 86_400),
                AlternateServer = ReadEndPoint(r, "Drain:AlternateServer"),
            },
        };

        options = LocalDefault.Apply(options, r);
        CheckPorts(r, listen);
        CheckTls(r, tls);
        CheckRfc5780(r, listen, rfc5780);
        r.ReportUnknownKeys(ForeignSections);
        return new ValidationResult(options, r.Errors) { Warnings = r.Warnings, Entries = r.Entries };
    }

    /// <summary>Admin:ApiKey: too short to resist guessing offline is an error naming the key, never the value.</summary>
    private static string? ReadSecret(ConfigReader r, string key)
    {
        string? value = r.Text(key, secret: true);
        if (value is not null && value.Length < 16)
        {
            r.Error(key, null, "is shorter than 16 characters; use a long random value");
        }

        return value;
    }

    private static IPEndPoint? ReadEndPoint(ConfigReader r, string key)
    {
        string? text = r.Text(key);
        if (text is null)
        {
            return null;
        }

        if (!IPEndPoint.TryParse(text, out IPEndPoint? endPoint) || endPoint.Port == 0)
        {
            r.Error(key, text, "is not an address with a port (e.g. 203.0.113.7:3478 or [2001:db8::7]:3478)");
            return null;
        }

        return endPoint;
    }

    /// <summary>Host names as a browser's Host header carries them: a DNS name, "*.name" for its subdomains, or "*".</summary>
    private static List<string>? ReadHostNames(ConfigReader r, string key)
        => r.List<string>(
            key,
            (string text, out string host) =>
            {
                host = text.ToLowerInvariant();
                string name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
                return host == "*" || Uri.CheckHostName(name) is UriHostNameType.Dns or UriHostNameType.IPv4 || (name.StartsWith('[') && Uri.CheckHostName(name.Trim('[', ']')) == UriHostNameType.IPv6);
            },
            "is not a host name (e.g. turn.example.org, *.example.org, or [2001:db8::1])");

    private static List<string>? ReadUrls(ConfigReader r, string key, IReadOnlyList<string> fallback)
        => r.List<string>(
            key,
            (string text, out string url) =>
            {
                url = text;
                return Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && (uri.Scheme == "http" || uri.Scheme == "https") && uri.AbsolutePath == "/";
            },
            "is not an http:// or https:// URL with a host and port (e.g. http://0.0.0.0:8080)",
            fallback);

    /// <summary>
    /// The Signal section: the keys, ranges and checks are Signal's own (<see cref="Turn.Signal.SignalOptions.WholeNumbers"/>,
    /// <see cref="Turn.Signal.SignalOptions.Validate"/>); this reads them and reports under the same keys.
    /// </summary>
    private static Turn.Signal.SignalOptions ReadSignal(ConfigReader r, Turn.Signal.SignalOptions defaults)
    {
        Turn.Signal.SignalOptions signal = defaults with
        {
            Path = r.Text("Signal:Path", defaults.Path, 128),
            AllowedOrigins = r.List("Signal:AllowedOrigins", defaults.AllowedOrigins) ?? defaults.AllowedOrigins,
            JoinTokenSecret = r.Text("Signal:JoinTokenSecret", secret: true),
            ApiKey = r.Text("Signal:ApiKey", secret: true),
            Redis = r.Text("Signal:Redis", secret: true),
            UnsafeOpenAdmission = r.Bool("Signal:UnsafeOpenAdmission", defaults.UnsafeOpenAdmission),
        };
        foreach (Turn.Signal.SignalSetting setting in Turn.Signal.SignalOptions.WholeNumbers)
        {
            signal = setting.Set(signal, r.Int($"{Turn.Signal.SignalOptions.Section}:{setting.Key}", setting.Get(defaults), setting.Min, setting.Max));
        }

        foreach (Turn.Signal.SignalOptionsProblem problem in signal.Validate())
        {
            r.Error(problem.Key, problem.Value, problem.Problem);
        }

        if (signal.UnsafeOpenAdmission && signal.JoinTokenSecret is null)
        {
            r.Warning("Signal:UnsafeOpenAdmission is true: anyone who reaches the HTTP port can join rooms and get TURN credentials, within the per-address limits");
        }

        return signal;
    }

    private static AuthOptions ReadAuth(ConfigReader r, AuthOptions defaults)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<string> entries = r.List("Auth:Users", mask: MaskUser) ?? [];
        for (int i = 0; i < entries.Count; i++)
        {
            int colon = entries[i].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == entries[i].Length - 1)
            {
                // The value holds a password: name the key, never echo it.
                r.Error($"Auth:Users:{i}", null, "is not \"name:password\"");
                continue;
            }

            string name = entries[i][..colon];
            if (Auth.Saslprep.Prepare(entries[i][(colon + 1)..]) is null)
            {
                r.Error($"Auth:Users:{i}", null, $"(user \"{name}\") has a password with characters SASLprep prohibits");
            }

            users[name] = entries[i][(colon + 1)..];
        }

        IReadOnlyList<string> secrets = r.List("Auth:Secrets", mask: _ => "********") ?? [];
        for (int i = 0; i < secrets.Count; i++)
        {
            if (secrets[i].Length < 16)
            {
                r.Error($"Auth:Secrets:{i}", null, "is shorter than 16 characters; use a long random secret");
            }
        }

        r.Replaced("Auth:UnauthenticatedRequestsPerSecond", "was replaced by Auth:UnauthenticatedBytesPerSecond, a per-source budget of bytes for Binding answers and 401s (0: off)");

        return new AuthOptions
        {
            Realm = r.Text("Auth:Realm", defaults.Realm, 127),
            Users = users,
            Secrets = secrets,
            NonceLifetimeSeconds = r.Int("Auth:NonceLifetimeSeconds", defaults.NonceLifetimeSeconds, 30, 86_400),
            UnauthenticatedBytesPerSecond = r.Int("Auth:UnauthenticatedBytesPerSecond", defaults.UnauthenticatedBytesPerSecond, 0, int.MaxValue),
        };
    }

    /// <summary>"name:********": the user's name without the password.</summary>
    private static string MaskUser(string entry)
    {
        int colon = entry.IndexOf(':', StringComparison.Ordinal);
        return (colon < 0 ? "?" : entry[..colon]) + ":********";
    }

    private static List<IpPrefix>? ReadPrefixes(ConfigReader r, string key)
        => r.List<IpPrefix>(key, IpPrefix.TryParse, "is not an address or prefix such as 10.0.0.0/8 (host bits must be zero)");

    private static List<IPAddress>? ReadAddresses(ConfigReader r, string key, IReadOnlyList<IPAddress>? fallback = null, bool allowEmpty = false)
    {
        int errors = r.Errors.Count;
        List<IPAddress>? addresses = r.List<IPAddress>(key, (string text, out IPAddress address) => IPAddress.TryParse(text, out address!), "is not an IP address", fallback);
        if (addresses is null)
        {
            return null;
        }

        if (addresses.Count == 0 && r.Errors.Count == errors && !allowEmpty)
        {
            r.Error(key, null, "lists no address; give at least one (0.0.0.0 and :: listen everywhere)");
        }

        return addresses;
    }

    private static string ReadDataPlane(ConfigReader r, string fallback)
    {
        const string key = "Listen:DataPlane";
        string value = r.Text(key, fallback, 16).ToLowerInvariant();
        if (value is not ("auto" or "epoll" or "sockets"))
        {
            r.Error(key, value, "must be auto, epoll or sockets");
            return fallback;
        }

        if (value == "epoll" && !Transport.Linux.Libc.Available())
        {
            r.Error(key, value, "needs Linux (x86_64 or arm64) with epoll; use auto or sockets");
            return fallback;
        }

        return value;
    }

    private static List<string>? ReadTransports(ConfigReader r, IReadOnlyList<string> fallback)
    {
        const string key = "Listen:Transports";
        IReadOnlyList<string>? items = r.List(key, fallback);
        if (items is null)
        {
            return null;
        }

        var transports = new List<string>();
        for (int i = 0; i < items.Count; i++)
        {
            string name = items[i].ToLowerInvariant();
            if (Array.IndexOf(KnownTransports, name) < 0)
            {
                r.Error($"{key}:{i}", items[i], "is not a transport (udp, tcp, tls)");
            }
            else if (!transports.Contains(name))
            {
                transports.Add(name);
            }
        }

        if (items.Count == 0)
        {
            r.Error(key, null, "lists no transport; give at least one of udp, tcp, tls");
        }

        return transports;
    }

}
