output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones the subnets are spread over, in subnet order."
  value       = var.azs
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone. Put EKS nodes and the database here."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per availability zone. They hold the NAT gateways."
  value       = aws_subnet.public[*].id
}

output "nat_public_ips" {
  description = "Elastic IPs of the NAT gateways: the source addresses of all egress from private subnets (useful for allowlists)."
  value       = aws_eip.nat[*].public_ip
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group receiving the VPC flow logs."
  value       = module.flow_logs.log_group_name
}
