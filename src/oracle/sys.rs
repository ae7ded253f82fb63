//! Thin safe wrappers over the system calls the oracle uses: `unshare`, the tun device, raw
//! IP sockets, `poll`, and the monotonic clock.
//!
//! Every descriptor is opened with `O_CLOEXEC`/`SOCK_CLOEXEC` and owned by an [`OwnedFd`], so a
//! child process spawned by any thread of the program (for instance a parallel test running
//! `iptables-restore`) never inherits one of them and cannot keep the oracle's network namespace
//! alive after the oracle thread ends.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// `Ok(None)` for `EAGAIN`/`EWOULDBLOCK`, the usual answer of a drained non-blocking descriptor.
fn would_block(r: io::Result<usize>) -> io::Result<Option<usize>> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Move the calling thread (only this thread) into a new, empty network namespace.
pub(crate) fn unshare_net() -> io::Result<()> {
    // SAFETY: plain system call without pointers.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNET) }).map(|_| ())
}

/// Pin the calling thread to the CPU it runs on now. Per-CPU state in netfilter (for example
/// `nf_conncount`, which treats entries added by another CPU in the last two jiffies as
/// possibly unconfirmed) then behaves as on a single-CPU machine, deterministically. Returns the
/// CPU, or `None` when the affinity could not be set (the replay still works).
pub(crate) fn pin_to_current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu < 0 {
        return None;
    }
    let cpu = cpu as usize;
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it; pid 0 is the
    // calling thread and the size is that of the set passed.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    ok.then_some(cpu)
}

/// Effective user id of the process.
pub(crate) fn geteuid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::geteuid() }
}

/// `CLOCK_MONOTONIC` in nanoseconds — the clock `/proc/timer_list` ("now at") and the kernel's
/// jiffies bookkeeping (`tick_next_period`) use.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleep until `CLOCK_MONOTONIC` reaches `deadline_ns` (absolute), resuming after signals.
pub(crate) fn sleep_until_monotonic(deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: valid timespec pointer; the remaining-time pointer may be null with TIMER_ABSTIME.
        let r = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if r != libc::EINTR {
            return;
        }
    }
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// `struct virtio_net_hdr` (the tun default `TUNSETVNETHDRSZ`): flags, gso_type, hdr_len,
/// gso_size, csum_start, csum_offset, in the host's byte order (tun is little-endian-legacy).
const VNET_HDR_LEN: usize = 10;
const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;

/// A layer-3 tun device (`IFF_TUN | IFF_NO_PI | IFF_VNET_HDR`): writes are IP packets arriving
/// on the interface, reads are IP packets the stack transmitted through it. Every packet is
/// preceded by a `virtio_net_hdr`, which lets a write say that the packet's transport checksum
/// was offloaded (`VIRTIO_NET_HDR_F_NEEDS_CSUM`: `virtio_net_hdr_to_skb` makes the skb
/// `CHECKSUM_PARTIAL`, as a veth or a VM's virtio NIC delivers a locally built packet).
pub(crate) struct Tun {
    fd: OwnedFd,
    pub ifindex: u32,
}

impl Tun {
    /// Create the device in the calling thread's network namespace (the namespace of the opener
    /// of `/dev/net/tun` decides). The device disappears when the descriptor is closed.
    pub fn create(name: &str) -> io::Result<Tun> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name {name:?}"),
            ));
        }
        // SAFETY: NUL-terminated path literal.
        let raw = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        let fd = cvt(raw)?;
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // struct ifreq: char ifr_name[IFNAMSIZ]; union { short ifr_flags; ... } (40 bytes total).
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        ifr[16..18].copy_from_slice(&(IFF_TUN | IFF_NO_PI | IFF_VNET_HDR).to_ne_bytes());
        // SAFETY: ifr is a 40-byte buffer laid out as struct ifreq, valid for the ioctl.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, ifr.as_mut_ptr()) })?;
        let end = ifr[..16].iter().position(|&b| b == 0).unwrap_or(16);
        let name = String::from_utf8_lossy(&ifr[..end]).into_owned();
        let cname = std::ffi::CString::new(name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Tun { fd, ifindex })
    }

    /// Hand one IP packet to the stack as if it arrived on the interface. `offloaded` =
    /// `Some((csum_start, csum_offset))`: its transport checksum was left for offload
    /// (`CHECKSUM_PARTIAL`), so the stack never verifies it; `None`: `CHECKSUM_NONE`.
    /// Returns the number of packet bytes written.
    pub fn write(&self, packet: &[u8], offloaded: Option<(u16, u16)>) -> io::Result<usize> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        if let Some((start, offset)) = offloaded {
            hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
            hdr[6..8].copy_from_slice(&start.to_ne_bytes());
            hdr[8..10].copy_from_slice(&offset.to_ne_bytes());
        }
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: packet.as_ptr() as *mut libc::c_void,
                iov_len: packet.len(),
            },
        ];
        // SAFETY: two iovecs describing live buffers; the kernel only reads them.
        let n = cvt_size(unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) })?;
        Ok(n.saturating_sub(VNET_HDR_LEN))
    }

    /// One packet the stack transmitted through the interface (its `virtio_net_hdr` removed),
    /// `None` when there is none.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: two iovecs describing live, writable buffers.
        would_block(cvt_size(unsafe {
            libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2)
        }))
        .map(|n| n.map(|n| n.saturating_sub(VNET_HDR_LEN)))
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A raw IP socket (`SOCK_RAW`) in the calling thread's namespace.
pub(crate) fn raw_socket(v6: bool, protocol: u8, nonblocking: bool) -> io::Result<OwnedFd> {
    let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let mut ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    if nonblocking {
        ty |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: plain system call.
    let fd = cvt(unsafe { libc::socket(domain, ty, protocol as libc::c_int) })?;
    // SAFETY: fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(crate) fn set_int_opt(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: pointer to a live c_int and its size.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// A UDP socket of the calling thread's namespace that joined multicast `group` on interface
/// `dev` (`IP_ADD_MEMBERSHIP` with `ip_mreqn`, `IPV6_ADD_MEMBERSHIP`): the interface stays in
/// the group as long as the socket is open.
pub(crate) fn join_group(dev: &str, group: IpAddr) -> io::Result<OwnedFd> {
    let name = std::ffi::CString::new(dev)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with NUL"))?;
    // SAFETY: a valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(io::Error::last_os_error());
    }
    let domain = if group.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain system call.
    let fd = cvt(unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let r = match group {
        IpAddr::V4(g) => {
            let m = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from(g).to_be(),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as libc::c_int,
            };
            // SAFETY: pointer to a live ip_mreqn and its size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_ADD_MEMBERSHIP,
                    (&m as *const libc::ip_mreqn).cast(),
                    std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
                )
            }
        }
        IpAddr::V6(g) => {
            let m = libc::ipv6_mreq {
                ipv6mr_multiaddr: libc::in6_addr {
                    s6_addr: g.octets(),
                },
                ipv6mr_interface: ifindex,
            };
            // SAFETY: pointer to a live ipv6_mreq and its size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_IPV6,
                    libc::IPV6_ADD_MEMBERSHIP,
                    (&m as *const libc::ipv6_mreq).cast(),
                    std::mem::size_of::<libc::ipv6_mreq>() as libc::socklen_t,
                )
            }
        }
    };
    cvt(r)?;
    Ok(fd)
}

/// Receive one datagram, `None` when the (non-blocking) socket is drained.
pub fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: buffer pointer and length describe a valid mutable slice.
    would_block(cvt_size(unsafe {
        libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
    }))
}

/// `sendto` towards `dst` (port 0), with `scope_id` for IPv6 link-local/multicast destinations.
pub(crate) fn send_to(fd: &OwnedFd, buf: &[u8], dst: IpAddr, scope_id: u32) -> io::Result<usize> {
    match dst {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain old data; zeroed is a valid value.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            // SAFETY: valid buffer and sockaddr pointers with their sizes.
            cvt_size(unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            })
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_in6 is plain old data; zeroed is a valid value.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_addr.s6_addr = a.octets();
            sa.sin6_scope_id = scope_id;
            // SAFETY: valid buffer and sockaddr pointers with their sizes.
            cvt_size(unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            })
        }
    }
}

/// `poll(2)` on `fds` (their `revents` are filled in); returns the number of ready descriptors.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    loop {
        // SAFETY: fds is a valid mutable slice of pollfd structures.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
