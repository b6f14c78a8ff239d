using System.Net.Sockets;

namespace Turn.Transport;

/// <summary>
/// Grows the process's file descriptor table once at start-up. The kernel doubles the table
/// when a descriptor number passes its size, and in a multi-threaded process each doubling
/// waits for an RCU grace period; opening thousands of relay sockets under load would stall
/// the receive threads each time (tens of milliseconds, with loss). Taking the highest
/// descriptor number once at start (or opening that many) leaves the table at its final size.
/// </summary>
internal static class DescriptorTable
{
    /// <summary>Grows the table to hold <paramref name="count"/> descriptors, staying under the soft descriptor limit; returns the size asked for.</summary>
    public static int Grow(int count)
    {
        int limit = SoftLimit();
        count = Math.Min(count, limit - 256);
        if (count <= 0)
        {
            return 0;
        }

        // On Linux one descriptor at the highest number grows the table in one step.
        if (Linux.Libc.Available())
        {
            int probe = Linux.Libc.EventFd(0, Linux.Libc.EfdCloExec);
            if (probe >= 0)
            {
                // At or above the number, never onto one: a descriptor already open there stays open.
                int high = Linux.Libc.DupAtOrAbove(probe, count);
                Linux.Libc.Close(probe);
                if (high >= 0)
                {
                    Linux.Libc.Close(high);
                    return count;
                }
            }
        }

        var sockets = new List<Socket>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                sockets.Add(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            }
        }
        catch (SocketException)
        {
            // Out of descriptors already: the table is as large as it gets.
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }

        return sockets.Count;
    }

    /// <summary>The soft RLIMIT_NOFILE, read from /proc/self/limits; 1024 when unknown.</summary>
    private static int SoftLimit()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] parts = line[14..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return int.TryParse(parts[0], out int soft) ? soft : 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 1024;
    }
}
